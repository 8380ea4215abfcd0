/** The packet-flow conformance suite in nftables mode (see ./suite.ts). */
import { packetFlowSuite } from './suite.js';

packetFlowSuite('nftables');
