import { test } from "node:test";
import assert from "node:assert/strict";
import { blobHour, dayPrefix, flowLogPath, horizonDayFolders, recentHourFolders } from "../../collector/src/source/listing";

const NSG = "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-WEB/";
const VNET = "flowLogResourceID=/S_NETWORKWATCHERRG/NETWORKWATCHER_WESTEUROPE_FL/";

test("a flow log's path is everything before its y=/m=/d=/h= folders; names without them have none", () => {
  assert.equal(flowLogPath(`${NSG}y=2026/m=11/d=20/h=10/m=00/macAddress=000D3A000001/PT1H.json`), NSG);
  assert.equal(flowLogPath(`${VNET}y=2026/m=11/d=20/h=10/m=00/macAddress=000D3A000001/PT1H.json`), VNET);
  assert.equal(flowLogPath("y=2026/m=11/d=20/h=10/m=00/PT1H.json"), "");
  assert.equal(flowLogPath("exports/flows.json"), undefined);
  assert.equal(blobHour(`${NSG}y=2026/m=11/d=20/h=10/m=00/macAddress=000D3A000001/PT1H.json`)?.toISOString(), "2026-11-20T10:00:00.000Z");
});

test("recent hour folders: the current and previous hour, plus older ones still within the grace, across day and year ends", () => {
  assert.deepEqual(recentHourFolders(Date.UTC(2026, 10, 27, 10, 5), 15), ["y=2026/m=11/d=27/h=10/", "y=2026/m=11/d=27/h=09/"]);
  assert.deepEqual(recentHourFolders(Date.UTC(2026, 10, 27, 0, 20), 90), ["y=2026/m=11/d=27/h=00/", "y=2026/m=11/d=26/h=23/", "y=2026/m=11/d=26/h=22/"]);
  assert.deepEqual(recentHourFolders(Date.UTC(2026, 0, 1, 0, 0), 0), ["y=2026/m=01/d=01/h=00/", "y=2025/m=12/d=31/h=23/"]);
  // The longest grace the config allows (24 h): hours from 10:00 yesterday (ends 11:00, +24 h > 10:30) to 10:00 today.
  assert.equal(recentHourFolders(Date.UTC(2026, 10, 27, 10, 30), 24 * 60).length, 25);
});

test("a wide listing's day folders cover every hour of the horizon, across month and year ends; a name's day prefix is its flow log's path and day", () => {
  assert.deepEqual(horizonDayFolders(Date.UTC(2026, 10, 27, 10, 5), 0), ["y=2026/m=11/d=27/"]);
  assert.deepEqual(horizonDayFolders(Date.UTC(2026, 10, 27, 10, 5), 10), ["y=2026/m=11/d=27/"]);
  assert.deepEqual(horizonDayFolders(Date.UTC(2026, 10, 27, 10, 5), 11), ["y=2026/m=11/d=27/", "y=2026/m=11/d=26/"]);
  assert.deepEqual(horizonDayFolders(Date.UTC(2026, 0, 1, 0, 30), 48), ["y=2026/m=01/d=01/", "y=2025/m=12/d=31/", "y=2025/m=12/d=30/"]);
  assert.deepEqual(horizonDayFolders(Date.UTC(2026, 2, 1, 12), 24), ["y=2026/m=03/d=01/", "y=2026/m=02/d=28/"]);
  assert.equal(dayPrefix(`${NSG}y=2026/m=11/d=20/h=10/m=00/macAddress=000D3A000001/PT1H.json`), `${NSG}y=2026/m=11/d=20/`);
  assert.equal(dayPrefix("y=2026/m=11/d=20/h=10/m=00/PT1H.json"), "y=2026/m=11/d=20/");
  assert.equal(dayPrefix("exports/flows.json"), undefined);
});
