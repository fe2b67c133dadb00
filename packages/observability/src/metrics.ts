import { collectDefaultMetrics, Registry } from 'prom-client';

/** A fresh prom-client registry with Node's default metrics prefixed `settle_<app>_`. */
export function createRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry, prefix: `settle_${app}_` });
  return registry;
}
