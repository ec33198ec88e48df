// The program's storage and Network Watcher wiring alone (infra/foundation.ts, as infra/index.ts composes it), as one
// stack on the real engine against the stand-in azure-native provider acting as the ARM contract double, whose
// "Azure" lives in `armFile` (test/engine/standInProviders/standInProvider.ts), and what tests read of it.
import { existsSync, readFileSync } from "node:fs";
import { loadStackConfig } from "../../../infra/stackConfig";
import { declareFoundation, declareWatcher } from "../../../infra/foundation";
import { engineStack, STAND_IN_PROVIDERS, type EngineStack } from "./engineStack";

export async function foundationStack(options: { stackName: string; armFile: string; env?: Record<string, string> }): Promise<EngineStack> {
  return engineStack({
    projectName: "flowlogs-to-elastic",
    stackName: options.stackName,
    program: async () => {
      const config = loadStackConfig();
      const { skuGuard, resourceGroup, flowLogStorage } = declareFoundation(config);
      const { watcher } = declareWatcher(config, { resourceGroup, skuGuard });
      return { watcherName: watcher.name, watcherId: watcher.id, storageAccountId: flowLogStorage.accountId };
    },
    pathDirs: [STAND_IN_PROVIDERS],
    env: { STAND_IN_ARM_STATE: options.armFile, ...options.env },
  });
}

/** The stand-in provider's subscription, in the ids its ARM double gives. */
export const STAND_IN_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa";

/** What the ARM double holds (`armFile`). */
export interface ArmState { resources: Record<string, { type: string; inputs: Record<string, any> }>; pendingWatchers?: unknown[] }

export function armState(armFile: string): ArmState {
  return existsSync(armFile) ? JSON.parse(readFileSync(armFile, "utf8")) as ArmState : { resources: {} };
}

/** The ids (lowercase, as the double keeps them) of the watchers "Azure" has. */
export function armWatcherIds(armFile: string): string[] {
  return Object.entries(armState(armFile).resources).filter(([, r]) => r.type === "azure-native:network:NetworkWatcher").map(([id]) => id);
}

/**
 * A stack in northeurope that logs one existing VNet (no demo network, so no watcher appears on its own), with its
 * own watcher named `createWatcher` when given (`networkWatcher.create`).
 */
export async function configureNorthEurope(engine: EngineStack, accountName: string, createWatcher?: string): Promise<void> {
  await engine.stack.setAllConfig({ location: { value: "northeurope" }, "storage.accountName": { value: accountName } }, true);
  await engine.stack.setConfig("flowLogs[0].targetResourceId", { value: `/subscriptions/${STAND_IN_SUBSCRIPTION}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub` }, true);
  if (createWatcher === undefined) return;
  await engine.stack.setConfig("networkWatcher.create", { value: "true" }, true);
  await engine.stack.setConfig("networkWatcher.name", { value: createWatcher }, true);
}
