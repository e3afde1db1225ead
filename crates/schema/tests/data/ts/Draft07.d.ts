export interface Draft07 {
  settings: Settings;
  generic?: Wrapper_for_String;
  escaped?: with_slash;
  spaced?: two_words;
}

export interface Settings {
  on: boolean;
}

export interface Wrapper_for_String {
  value: string;
}

export type two_words = string;

export type with_slash = number;
