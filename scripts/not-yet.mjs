// Placeholder for root commands whose issue has not landed yet: says so and fails,
// rather than pretending to work.
const [command, issue] = process.argv.slice(2);
console.error(`tollgate: \`pnpm ${command}\` is not available yet (tracked in issue #${issue}).`);
process.exit(1);
