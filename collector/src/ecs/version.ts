/** The ECS version the documents follow (written to `ecs.version`). */
export const ECS_VERSION = "8.17.0";
