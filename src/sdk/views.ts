/**
 * The views as the SDK exports them: with no client given they use the environment's backend
 * (PREFECTLITE_API_URL, else the embedded database of PREFECTLITE_HOME) and read results from
 * $PREFECTLITE_HOME/results.
 */
import { setViewDefaults } from "../client/views/index.ts";
import { LocalResultStore } from "../engine/result-store.ts";
import { settings } from "../settings.ts";
import { Client } from "./client.ts";

const clients = new Map<string, Client>();

/** One client per backend address (the embedded database is opened once per process). */
export function environmentClient(apiUrl = settings.apiUrl()): Client {
  const key = apiUrl ? `api:${apiUrl}` : `database:${settings.databaseUrl()}`;
  let client = clients.get(key);
  if (!client) {
    client = new Client({ apiUrl });
    clients.set(key, client);
  }
  return client;
}

setViewDefaults(() => ({ client: environmentClient(), results: new LocalResultStore(settings.resultsDir()) }));

export { FlowView, FlowRunView, TaskRunView, type FlowParameterInfo, type FlowRunLog, type ResultReader, type ViewOptions } from "../client/views/index.ts";
