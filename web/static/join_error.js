// The error page of a join link: see shared/join_token.js.
import { recoverJoin } from './shared/join_token.js';

recoverJoin();
