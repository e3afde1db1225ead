export interface Enums {
  density: Density;
  theme: Theme;
  answer?: 42;
  mixed?: "a" | 1 | true | null;
  quoted?: "it's" | "say \"hi\"" | "back\\slash";
}

export type Density = "compact" | "normal" | "spacious";

/** Colour theme. */
export type Theme =
  /** Light on dark. */
  | "dark"
  | "light";
