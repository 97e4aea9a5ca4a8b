// `npm run doctor [-- --json]`: checks the configuration in the environment (the same variables
// as the service), prints a table (or JSON), exits 1 when a check failed. See docs/doctor.md.
import { runDoctorCommand } from './command.js'

const { output, exitCode } = await runDoctorCommand(process.env, process.argv.slice(2))
console.log(output)
process.exitCode = exitCode
