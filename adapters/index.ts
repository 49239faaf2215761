/**
 * The only file that knows every adapter: config `type` -> adapter module. Removing an adapter is
 * removing its folder and its line here.
 */
import type { EidAdapterModule } from '../src/contracts/eid.ts';
import type { RegistryAdapterModule } from '../src/contracts/registry.ts';
import { bankIdModule } from './bankid/index.ts';
import { frejaModule } from './freja/index.ts';
import { navetModule } from './navet/index.ts';
import { samlModule } from './saml/index.ts';

export const adapterModules: Record<string, EidAdapterModule<any>> = {
  [bankIdModule.type]: bankIdModule,
  [frejaModule.type]: frejaModule,
  [samlModule.type]: samlModule,
};

/** Population registries: config `registry.type` -> module. */
export const registryModules: Record<string, RegistryAdapterModule<any, any>> = {
  [navetModule.type]: navetModule,
};
