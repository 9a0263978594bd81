// The supervisor from the TypeScript sources: `node --import tsx cluster/supervisor/main.ts DIR`
// (`up` starts the compiled `gittorrent cluster supervise DIR`; cluster/supervisor/run.ts).
import { supervisorMain } from './run.ts';

supervisorMain(process.argv[2]);
