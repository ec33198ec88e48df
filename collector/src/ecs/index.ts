export { toFlowDocument } from "./mapper";
export { documentId } from "./documentId";
export { communityId, type FiveTuple } from "./communityId";
export { toBulkNdjson } from "./bulk";
export { parseResourceId, type ResourceIdParts } from "./resourceId";
export { transportName } from "./transport";
export { ECS_VERSION } from "./version";
