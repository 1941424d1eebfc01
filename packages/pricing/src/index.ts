// Placeholder until the pricing package lands (issue #2).
export {};
