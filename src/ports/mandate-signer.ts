/**
 * The service's signature over a mandate's terms (a compact JWS): made when a person grants one,
 * checked on every use, so terms changed anywhere but through the service never spend money.
 */
export interface MandateSigner {
  sign(claims: Readonly<Record<string, unknown>>): Promise<string>;
  /** The claims of a JWS this service signed; undefined when its signature does not verify. */
  verify(jws: string): Promise<Readonly<Record<string, unknown>> | undefined>;
  /** The public key (JWK, with its `kid`) anyone can check a mandate's signature with. */
  readonly publicJwk: Readonly<Record<string, unknown>>;
}
