// The Elasticsearch half of the Elastic side: index assets, the collector's writer key and the check of one made
// outside the stack, as dynamic resources.
export { ElasticsearchConnection, checkConnection, callElasticsearch, ElasticsearchError } from "./client";
export { ElasticsearchIndexAssets, ElasticsearchIndexAssetsArgs, indexAssetsProvider } from "./indexAssetsResource";
export { ElasticsearchWriterApiKey, ElasticsearchWriterApiKeyArgs, writerApiKeyProvider, writerKeyRequest, writerRoleDescriptors } from "./writerApiKeyResource";
export { ElasticsearchWriterKeyCheck, ElasticsearchWriterKeyCheckArgs, writerKeyCheckProvider, checkWriterKeyPrivileges } from "./writerKeyCheckResource";
