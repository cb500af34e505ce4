// The TS-API `/watch` page (protocols/tsapi/watchpage.py): one channel's video, as its query asks
// (ch, when, duration, auth), in the shared player.
import {play} from './player.js';

const q = new URLSearchParams(location.search);
play(document.getElementById('v'), document.getElementById('i'),
  {ch: q.get('ch'), when: q.get('when'), duration: q.get('duration'), auth: q.get('auth')});
