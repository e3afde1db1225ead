export interface Nullable {
  name: string | null;
  size?: number | null;
  point?: Point | null;
  legacy?: string | null;
  level?: "low" | "high" | null;
  many?: number[] | null;
  either?: string | number | boolean;
}

export interface Point {
  x: number;
  y: number;
}
