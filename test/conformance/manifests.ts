/**
 * The workloads the packet-flow conformance suite runs on a 3-node cluster:
 * - `webui` (3 nginx) behind `webui-svc` at 10.96.100.100: the tutorial's ClusterIP example;
 * - `backend` (3 agnhost netexec, readiness probe on /readyz, --delay-shutdown for graceful
 *   termination) behind `backend` (spreading), `backend-sticky` (sessionAffinity ClientIP);
 * - `solo`, one agnhost pod pinned to node-2, behind `solo-cluster` (NodePort 30080),
 *   `solo-local` (NodePort 30081, externalTrafficPolicy Local) and `solo-itp`
 *   (internalTrafficPolicy Local);
 * - `client`, a busybox pod pinned to node-3 (where no `solo` endpoint is);
 * - `nothing`, a Service whose selector matches no pod.
 */

export const WEBUI_IP = '10.96.100.100';
export const SOLO_NODE = 2;
export const CLIENT_NODE = 3;
export const SOLO_CLUSTER_NODEPORT = 30080;
export const SOLO_LOCAL_NODEPORT = 30081;

const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.53';

export const MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: webui
spec:
  replicas: 3
  selector:
    matchLabels:
      app: webui
  template:
    metadata:
      name: nginx-pod
      labels:
        app: webui
    spec:
      containers:
      - name: nginx-container
        image: nginx:1.14
---
apiVersion: v1
kind: Service
metadata:
  name: webui-svc
spec:
  clusterIP: ${WEBUI_IP}
  selector:
    app: webui
  ports:
  - protocol: TCP
    port: 80
    targetPort: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
spec:
  replicas: 3
  selector:
    matchLabels:
      app: backend
  template:
    metadata:
      labels:
        app: backend
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: agnhost
        image: ${AGNHOST}
        args: [netexec, --http-port=8080, --delay-shutdown=3]
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet:
            path: /readyz
            port: 8080
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  selector:
    app: backend
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: backend-sticky
spec:
  selector:
    app: backend
  sessionAffinity: ClientIP
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: solo
  labels:
    app: solo
spec:
  nodeName: node-${SOLO_NODE}
  containers:
  - name: agnhost
    image: ${AGNHOST}
    args: [netexec, --http-port=8080]
---
apiVersion: v1
kind: Service
metadata:
  name: solo-cluster
spec:
  type: NodePort
  selector:
    app: solo
  ports:
  - port: 80
    targetPort: 8080
    nodePort: ${SOLO_CLUSTER_NODEPORT}
---
apiVersion: v1
kind: Service
metadata:
  name: solo-local
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector:
    app: solo
  ports:
  - port: 80
    targetPort: 8080
    nodePort: ${SOLO_LOCAL_NODEPORT}
---
apiVersion: v1
kind: Service
metadata:
  name: solo-itp
spec:
  internalTrafficPolicy: Local
  selector:
    app: solo
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  nodeName: node-${CLIENT_NODE}
  containers:
  - name: busybox
    image: busybox
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Service
metadata:
  name: nothing
spec:
  selector:
    app: nothing
  ports:
  - port: 80
    targetPort: 8080
`;
