/**
 * The headers every client command sends: the API key (AUTOGLM_API_KEY, or the admin key file the
 * first start wrote), and — with `--user` — the person an operator or admin acts for.
 */
export function credentialHeaders(apiKey: string | undefined, user: string | undefined): Record<string, string> {
  return {
    ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
    ...(user === undefined ? {} : { 'x-act-for': user }),
  };
}
