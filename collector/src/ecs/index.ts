export { toFlowDocument } from "./mapper";
export { flowDocumentJson } from "./documentJson";
export { identifiedDocument, identifiedFlow } from "./identified";
export { documentId } from "./documentId";
export { communityId, type FiveTuple } from "./communityId";
export { toBulkNdjson } from "./bulk";
export { parseResourceId, type ResourceIdParts } from "./resourceId";
export { transportName } from "./transport";
export { ECS_VERSION } from "./version";
