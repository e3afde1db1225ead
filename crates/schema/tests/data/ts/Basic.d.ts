/** A plain struct. */
export interface Basic {
  /** Display name. */
  name: string;
  count: number;
  ratio?: number;
  enabled?: boolean;
  tags?: string[];
  "data-dir"?: string;
  $meta?: string;
  "2fa"?: boolean;
  inner: {
    depth: number;
    deeper?: {
      leaf: null;
    };
  };
}
