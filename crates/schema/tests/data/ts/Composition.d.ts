export type Composition = Base & {
  extra: boolean;
};

/** A reference with a description beside it. */
export type Annotated = Base;

export interface Base {
  id: string;
}

export type Choice = Base & (
  | {
      a: string;
    }
  | {
      b: string;
    });

export type Stamped = {
  at: number;
} & Base;
