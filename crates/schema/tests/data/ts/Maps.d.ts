export interface Maps {
  counts: Record<string, number>;
  anything?: Record<string, unknown>;
  loose?: Record<string, unknown>;
  closed?: Record<string, never>;
  byPattern?: Record<string, string>;
  items: Record<string, Item>;
  lists?: Record<string, Array<string | null>>;
  nested?: Record<string, Record<string, boolean>>;
}

export interface Item {
  id: string;
  [key: string]: unknown;
}
