// The program's storage and Network Watcher wiring alone (infra/foundation.ts, as infra/index.ts composes it), as one
// stack on the real engine against the stand-in azure-native provider acting as the ARM contract double, whose
// "Azure" lives in `armFile` (test/engine/standInProviders/standInProvider.ts).
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
