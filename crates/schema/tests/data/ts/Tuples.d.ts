export interface Tuples {
  pair: [string, number];
  optionalTail?: [string, (number | null)?];
  withRest?: [boolean, ...Cell[]];
  openTail?: [boolean, ...unknown[]];
  draft7?: [string, string];
  matrix?: number[][];
  unit?: null;
}

export type Cell = string;
