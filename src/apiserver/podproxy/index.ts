/** Pod subresources served by the node's kubelet (log, exec, attach, portforward), proxied by the API server. */

export { DEFAULT_KUBELET_PORT, kubeletAddress, kubeletLogPath, kubeletStreamingPath, resolveContainer } from './location.js';
export { type PodProxy, type PodProxyOptions, podLogHandler, podProxy, podUpgradeHandler, rewriteUpgradeRequest } from './proxy.js';
