// Right after a first deploy, Azure RBAC can take minutes to apply the collector identity's role assignments, so
// its first calls to storage answer 403. For a bounded time after start-up such a 403 is waited out: one warning
// line names the likely cause and the roles needed, and the work is simply tried again on the next poll. After the
// grace a 403 fails loudly as any other error.
import type { Logger } from "./logger";

export const STORAGE_ROLES =
  "Storage Blob Data Reader on the flow-log containers (or the account) and Storage Blob Data Contributor on the checkpoint container";

/** A 403 from Azure Storage (AuthorizationPermissionMismatch, AuthorizationFailure...). */
export function isForbidden(error: unknown): boolean {
  return (error as { statusCode?: unknown } | undefined)?.statusCode === 403;
}

/**
 * The storage credential could not get a token: @azure/identity's errors when no credential works yet. Azure Container
 * Instances starts the container before its managed-identity endpoint answers (MicrosoftDocs/azure-docs#61891), and
 * DefaultAzureCredential's 1 s probe of it is not retried, nor does the storage SDK retry these errors.
 */
export function isIdentityUnready(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === "CredentialUnavailableError" || name === "AggregateAuthenticationError" || name === "AuthenticationError";
}

export class AuthorizationGrace {
  /** The waiting lines already logged, one per kind of wait. */
  private readonly announced = new Set<string>();
  private waitedSince?: number;
  readonly until: number;

  constructor(startedAt: number, graceMinutes: number, private readonly log: Logger) {
    this.until = startedAt + graceMinutes * 60_000;
  }

  /** True while the grace lasts. */
  within(now = Date.now()): boolean {
    return now < this.until;
  }

  /**
   * Whether a failure may be waited out: a 403 (`forbidden`) within the grace. Says so once, in one line.
   * `what` names the call that was refused (e.g. "listing container x").
   */
  excuse(forbidden: boolean, what: string, error: string, now = Date.now()): boolean {
    return forbidden && this.waitOut(now, "storage.forbidden.waiting", {
      refused: what, error,
      cause: "Azure Storage answered 403: the role assignments of the collector's identity are most likely not effective yet (Azure RBAC can take several minutes after a first deploy)",
      rolesNeeded: STORAGE_ROLES,
      retryingUntil: new Date(this.until).toISOString(),
      after: "403s are errors (blob.failed, list.failed) and a 403 at start-up stops the collector",
    });
  }

  /**
   * Whether a start-up failure to get a storage token may be waited out (isIdentityUnready, within the grace). Says
   * so once, in one line.
   */
  excuseUnreadyIdentity(what: string, error: string, now = Date.now()): boolean {
    return this.waitOut(now, "storage.identity.waiting", {
      refused: what, error,
      cause: "no storage token yet: a container's managed identity endpoint can answer only some time after the container started " +
        "(otherwise: AZURE_CLIENT_ID names no identity assigned to the container)",
      retryingUntil: new Date(this.until).toISOString(),
    });
  }

  /** Within the grace: the wait starts (if it has not) and `event` is logged once, with `fields`. */
  private waitOut(now: number, event: string, fields: Record<string, unknown>): boolean {
    if (!this.within(now)) return false;
    this.waitedSince ??= now;
    if (!this.announced.has(event)) {
      this.announced.add(event);
      this.log("warn", event, fields);
    }
    return true;
  }

  /** A call that was refused before now succeeded: say so once, with how long it took. */
  succeeded(now = Date.now()): void {
    if (this.waitedSince === undefined) return;
    this.log("info", "storage.authorized", { waitedSeconds: Math.round((now - this.waitedSince) / 1000) });
    this.waitedSince = undefined;
  }
}
