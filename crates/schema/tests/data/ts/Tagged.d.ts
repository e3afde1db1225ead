/** An internally tagged enum, as serde's `#[serde(tag = "kind")]`. */
export type Tagged =
  /** A circle. */
  | {
      kind: "circle";
      radius: number;
    }
  | {
      kind: "square";
      side: number;
    };

/** An externally tagged enum, serde's default. */
export type External =
  | "Empty"
  | "Unknown"
  | {
      Text: string;
    }
  | {
      Pair: [number, number];
    };

export type Untagged = string | string[];
