// The Elasticsearch half of the Elastic side: index assets and the collector's writer key as dynamic resources.
export { ElasticsearchConnection, checkConnection, callElasticsearch, ElasticsearchError } from "./client";
export { ElasticsearchIndexAssets, ElasticsearchIndexAssetsArgs, indexAssetsProvider } from "./indexAssetsResource";
export { ElasticsearchWriterApiKey, ElasticsearchWriterApiKeyArgs, writerApiKeyProvider, writerKeyRequest, writerRoleDescriptors } from "./writerApiKeyResource";
