// The Kibana double with one `.index` alerts connector: what every rule test starts from.
import type { KibanaConnection } from "../../../infra/elastic/kibana/client";
import { connectorProvider } from "../../../infra/elastic/kibana/connectorResource";
import { FakeKibana } from "./fakeKibana";

export interface AlertsKibana {
  kibana: FakeKibana;
  connection: KibanaConnection;
  /** The id of the `.index` connector writing to flowlogs-alerts. */
  connectorId: string;
}

export async function startAlertsKibana(apiKey: string): Promise<AlertsKibana> {
  const kibana = await new FakeKibana({ apiKey }).start();
  const connection = { url: kibana.url, apiKey };
  const connector = await connectorProvider.create({ connection, name: "alerts", connectorTypeId: ".index", config: { index: "flowlogs-alerts" }, secrets: {} });
  return { kibana, connection, connectorId: connector.id };
}
