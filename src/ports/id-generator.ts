/** Ids are injected so tests can predict them. */
export interface IdGenerator {
  /** A new unique, URL-safe id with the given prefix, e.g. `ord_01J…`. Sortable by creation time. */
  next(prefix: string): string;
}
