// The one Node global the consumer uses, so the type test needs no @types/node.
declare const Buffer: { alloc(size: number): Uint8Array };
