/**
 * The environment config/hub.yaml reads, with simulator URLs that point nowhere: enough to load and
 * check the repository config without starting the simulators (nothing is contacted at load).
 */
export function devConfigEnv(pkiDir: string): Record<string, string> {
  return {
    IDNAV_DEV_PKI: pkiDir,
    IDNAV_BANKID_URL: 'https://127.0.0.1:9/rp/v6.0',
    IDNAV_BANKID_APP_URL: 'http://127.0.0.1:9/',
    IDNAV_NAVET_URL: 'https://127.0.0.1:9/na/na_epersondata/V2',
    IDNAV_FREJA_URL: 'https://127.0.0.1:9',
    IDNAV_FREJA_APP_URL: 'http://127.0.0.1:9/dev/freja-app',
    IDNAV_SAML_IDP_URL: 'http://127.0.0.1:9',
  };
}
