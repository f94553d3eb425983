// The error page of a join link: see join_token.js.
import { recoverJoin } from './join_token.js';

recoverJoin();
