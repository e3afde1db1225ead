export interface Unknowns {
  any: unknown;
  empty?: unknown;
  annotated?: unknown;
  never?: never;
  formatted?: string;
  constrained?: number;
  conditional?: unknown;
  negated?: unknown;
  constObject?: {"a":[1,2]};
}
