/** The packet-flow conformance suite in iptables mode (see ./suite.ts). */
import { packetFlowSuite } from './suite.js';

packetFlowSuite('iptables');
