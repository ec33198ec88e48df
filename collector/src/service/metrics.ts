// Counters and gauges of one collector process, rendered in the Prometheus text format for /metrics.

export class Metrics {
  polls = 0;
  blobsListed = 0;
  /** Blobs whose caught-up ETag the scheduler holds in memory (./rememberedBlobs.ts). */
  blobsRemembered = 0;
  blobsRead = 0;
  blobsUnchanged = 0;
  blobsBusy = 0;
  blobsGone = 0;
  blobsDone = 0;
  blobsFailed = 0;
  /** Blobs that can never be read (e.g. a name too long for a checkpoint): dead-lettered once, then skipped. */
  blobsDead = 0;
  restarts = 0;
  bytesRead = 0;
  tuples = 0;
  indexed = 0;
  duplicates = 0;
  rejects = 0;
  malformedBlocks = 0;
  deadLettered = 0;
  retries = 0;
  errors = 0;
  /** Checkpoint leases by how the checkpoint was known: remembered (its ETag held), read under the lease, or a
   * memory found stale (another replica wrote since: one refused lease, then read). */
  readonly checkpointLeases = { remembered: 0, created: 0, read: 0, stale: 0 };
  /** Source blob key -> when its oldest unread data was first seen (epoch ms). */
  readonly pendingSince = new Map<string, number>();
  /** Unread blobs the last full or wide listing left for a later poll (not in pendingSince: not held in memory). */
  leftOut = { blobs: 0, since: Infinity };
  lastPollEnd?: number;
  /**
   * Last sign of progress: a poll made progress, a batch was acknowledged (a long first backfill is not a stall), or
   * a job's sink started waiting out an outage (the loop is alive, and a restart cannot end the outage).
   */
  lastProgress?: number;
  /** Polls in a row that made no progress (see collector.ts `poll`), and why the last one did not. */
  failedPolls = 0;
  lastFailure?: string;
  /** Entries of the threat list in use; undefined without one (its metrics are then left out). */
  threatListEntries?: number;
  /** New versions of the threat list that could not be used (the old list was kept). */
  threatListRefused = 0;

  noteThreatList(outcome: "unchanged" | "reloaded" | "refused", entries: number): void {
    this.threatListEntries = entries;
    if (outcome === "refused") this.threatListRefused++;
  }

  /** Records the outcome of one poll: `failure` says why it made no progress, undefined when it did. */
  notePoll(failure: string | undefined, now = Date.now()): void {
    if (failure === undefined) {
      this.failedPolls = 0;
      this.lastFailure = undefined;
      this.lastProgress = now;
    } else {
      this.failedPolls++;
      this.lastFailure = failure;
    }
  }

  lagSeconds(now = Date.now()): number {
    let oldest = Math.min(now, this.leftOut.since);
    for (const since of this.pendingSince.values()) oldest = Math.min(oldest, since);
    return Math.max(0, (now - oldest) / 1000);
  }

  render(now = Date.now()): string {
    const lines: string[] = [];
    const metric = (name: string, type: "counter" | "gauge", help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric("flowlogs_polls_total", "counter", "Completed polls of the flow-log containers.", [["", this.polls]]);
    metric("flowlogs_blobs_total", "counter", "Blob jobs by outcome.", [
      ['{outcome="read"}', this.blobsRead], ['{outcome="unchanged"}', this.blobsUnchanged],
      ['{outcome="busy"}', this.blobsBusy], ['{outcome="gone"}', this.blobsGone],
      ['{outcome="failed"}', this.blobsFailed], ['{outcome="done"}', this.blobsDone],
      ['{outcome="dead"}', this.blobsDead],
    ]);
    metric("flowlogs_blobs_listed", "gauge", "Flow-log blobs seen in the last poll.", [["", this.blobsListed]]);
    metric("flowlogs_blobs_remembered", "gauge", "Blobs held in memory as caught up (about 120 bytes of heap each; memory.blobs warns at a third of the heap).", [["", this.blobsRemembered]]);
    metric("flowlogs_blob_restarts_total", "counter", "Blobs read again from the start (replaced or shrunk).", [["", this.restarts]]);
    metric("flowlogs_bytes_read_total", "counter", "Bytes downloaded from flow-log blobs.", [["", this.bytesRead]]);
    metric("flowlogs_tuples_total", "counter", "Flow tuples turned into documents.", [["", this.tuples]]);
    metric("flowlogs_documents_indexed_total", "counter", "Documents newly written by the sink.", [["", this.indexed]]);
    metric("flowlogs_documents_duplicate_total", "counter", "Documents already present (re-reads absorbed by deterministic ids).", [["", this.duplicates]]);
    metric("flowlogs_rejects_total", "counter", "Records or tuples the parser set aside.", [["", this.rejects]]);
    metric("flowlogs_malformed_blocks_total", "counter", "Records or byte ranges that were not valid JSON (or not processed after FLOWLOGS_MAX_ATTEMPTS tries), set aside.", [["", this.malformedBlocks]]);
    metric("flowlogs_dead_letters_total", "counter", "Documents the sink refused for good.", [["", this.deadLettered]]);
    metric("flowlogs_retries_total", "counter", "Retries (sink retries and blobs re-planned after changing mid-read).", [["", this.retries]]);
    metric("flowlogs_checkpoint_leases_total", "counter", "Checkpoint leases taken: on the ETag this process remembered, or on that of the checkpoint it just created (neither is read), or with the checkpoint read; stale: a remembered ETag refused because another replica wrote since.", [
      ['{checkpoint="remembered"}', this.checkpointLeases.remembered], ['{checkpoint="created"}', this.checkpointLeases.created],
      ['{checkpoint="read"}', this.checkpointLeases.read], ['{checkpoint="stale"}', this.checkpointLeases.stale],
    ]);
    metric("flowlogs_errors_total", "counter", "Blob jobs or polls that failed with an error.", [["", this.errors]]);
    metric("flowlogs_failed_polls", "gauge", "Polls in a row that made no progress (every blob job or listing failed); 3 make /healthz answer 503.", [["", this.failedPolls]]);
    metric("flowlogs_blobs_pending", "gauge", "Blobs with data not yet read (with those a listing left for later polls).", [["", this.pendingSince.size + this.leftOut.blobs]]);
    metric("flowlogs_lag_seconds", "gauge", "Age of the oldest unread data (since first seen changed; a lower bound).", [["", this.lagSeconds(now)]]);
    if (this.threatListEntries !== undefined) {
      metric("flowlogs_threat_list_entries", "gauge", "Entries of the threat list in use.", [["", this.threatListEntries]]);
      metric("flowlogs_threat_list_refused_total", "counter", "New versions of the threat list that could not be used (the list before was kept).", [["", this.threatListRefused]]);
    }
    return `${lines.join("\n")}\n`;
  }
}
