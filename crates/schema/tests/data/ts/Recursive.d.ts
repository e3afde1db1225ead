/** A tree. */
export interface Recursive {
  label: string;
  children: Recursive[];
  link?: Node | null;
}

export interface Node {
  next: Node | null;
  owner?: Recursive;
}
