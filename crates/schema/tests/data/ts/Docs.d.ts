/**
 * First paragraph.
 *
 * Second paragraph, with a stray *\/ in it.
 */
export interface Docs {
  /**
   * Use `new`.
   * @deprecated
   */
  old?: string;
  /** @deprecated */
  gone?: string;
  /** Padded. */
  new?: string;
  blank?: string;
}
