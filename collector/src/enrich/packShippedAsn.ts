// The last step of the collector's build (collector/package.json `build`, which the image runs): the shipped ASN
// tables parsed once from their CSV files and written pre-parsed beside the compiled code (asnPacked.ts).
import { loadAsnTable } from "./asnTable";
import { PACKED_ASN_FILE, writePackedShippedAsn } from "./asnPacked";

const bytes = writePackedShippedAsn(loadAsnTable());
process.stdout.write(`shipped ASN tables pre-parsed: ${PACKED_ASN_FILE} (${(bytes / 1e6).toFixed(1)} MB)\n`);
