// The test nodes pick a free port, then the JVM binds it seconds later: another process of the suite may take it in
// between (a CI run lost a secured node that way). A start that fails to bind is made again on new ports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withPortRetries } from "../support/jvmService";

test("a node start that could not bind its port is made again, up to the tries; any other failure is not", async () => {
  const lines: string[] = [];
  let starts = 0;
  const bindFailsTwice = async (): Promise<string> => {
    if (++starts <= 2) throw new Error("Elasticsearch exited during start-up:\n...Netty4HttpServerTransport.bind(Netty4HttpServerTransport.java:244)");
    return "running";
  };
  assert.equal(await withPortRetries(bindFailsTwice, (line) => lines.push(line)), "running");
  assert.equal(starts, 3);
  assert.equal(lines.length, 2);
  starts = 0;
  await assert.rejects(withPortRetries(async () => { starts++; throw new Error("java.net.BindException: Address already in use"); }, () => {}), /Address already in use/);
  assert.equal(starts, 3, "gives up after the tries");
  starts = 0;
  await assert.rejects(withPortRetries(async () => { starts++; throw new Error("no Java 21+ found"); }, () => {}), /no Java/);
  assert.equal(starts, 1, "other failures are not retried");
});
