// The after() of the end-to-end files that spawn collector services: nothing they started may outlive the file.
import type { CollectorChild, E2eWorld } from "./e2eSupport";

/** SIGKILLs the children still running, waits for every one to exit, then removes the world's containers. */
export async function stopChildrenAndWorld(children: CollectorChild[], world: E2eWorld | undefined): Promise<void> {
  for (const { child, exited } of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }
  await world?.cleanup();
}
