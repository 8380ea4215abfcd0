/** The packet-flow conformance suite in userspace mode (see ./suite.ts). */
import { packetFlowSuite } from './suite.js';

packetFlowSuite('userspace');
