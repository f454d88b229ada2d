# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_portagent_global_optspecs
    string join \n config= h/help V/version
end

function __fish_portagent_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_portagent_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_portagent_using_subcommand
    set -l cmd (__fish_portagent_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c portagent -n "__fish_portagent_needs_command" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_needs_command" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_needs_command" -s V -l version -d 'Print version'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "apply-state" -d 'Apply a state file: diff, checkpoint, apply, verify, roll back on failure'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "show-diff" -d 'Show what applying a state file would change (nothing is changed)'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "query-state" -d 'Show the live state, as a state file would describe it'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "commit" -d 'Keep the change applied with `--confirm-timeout`'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "rollback" -d 'Undo the change applied with `--confirm-timeout`'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "recover" -d 'Settle a change left unsettled now: a rollback that failed is tried again, however often it failed before. With `--abandon`, settle it by hand instead: the journal goes, the ledger records what was abandoned and why, and the system stays as it is. Root only'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "confirm-watch" -d 'The confirm timer: rolls change ID back at its deadline unless it was committed (started by `apply-state --confirm-timeout`)'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "daemon" -d 'Run the daemon: serve `dev.ovs.PortAgent1` on the system bus'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "introspect-systemd" -d 'systemd-networkd\'s manager and link states, over its D-Bus API'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "list-ports" -d 'The ports of the configured bridge (`bridge_name`)'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "add-port" -d 'Attach an existing link to the configured bridge (a dynamic port)'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "del-port" -d 'Take a port off the configured bridge'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "create-interface" -d 'Attach a guest\'s link to the bridge, named by `naming_template` (renamed when `enable_rename`)'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "remove-interface" -d 'Take a guest\'s port (by its name or its template name) off the bridge'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "schema" -d 'Print the JSON Schema (draft-07) of a state file, with the section of every installed plugin; point an editor\'s YAML language server at it'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "metrics" -d 'Prometheus text exposition: applies, rollbacks, failures by plugin, apply durations, ledger height and head age, a pending confirmation'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "completions" -d 'Print the shell completion script (bash, zsh, fish)'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "man" -d 'Write the man pages (one per command) into a directory'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "ledger" -d 'The audit ledger: verify, stats, show, proof, checkpoint'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "plugin" -d 'Install, list, inspect and remove sandboxed plugins'
complete -c portagent -n "__fish_portagent_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portagent -n "__fish_portagent_using_subcommand apply-state" -l confirm-timeout -d 'Keep the change only if `portagent commit` follows within SECONDS; otherwise it is rolled back by itself (like `netplan try`)' -r
complete -c portagent -n "__fish_portagent_using_subcommand apply-state" -l probe -d 'A host that must answer a ping after the apply, else it is rolled back (repeatable; adds to the file\'s `probe: {ping: [...]}`)' -r
complete -c portagent -n "__fish_portagent_using_subcommand apply-state" -l output -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand apply-state" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand apply-state" -l no-wait -d 'Fail at once (exit 4) if another apply is running, instead of waiting'
complete -c portagent -n "__fish_portagent_using_subcommand apply-state" -l detailed-exitcode -d 'Exit 5 when changes were made, 0 when there was nothing to do'
complete -c portagent -n "__fish_portagent_using_subcommand apply-state" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand show-diff" -l output -d '`json` (default: the guide\'s shape, one object per plugin), `yaml`, or `text` (a plan to read, like `terraform plan`: each resource created, changed or deleted with its settings, then a count; coloured on a terminal unless NO_COLOR is set)' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand show-diff" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand show-diff" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand query-state" -l plugin -d 'Only this plugin\'s section (e.g. `net`)' -r
complete -c portagent -n "__fish_portagent_using_subcommand query-state" -l output -d '`yaml` (default: a state file you can apply), or `json`' -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand query-state" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand query-state" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand commit" -l output -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand commit" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand commit" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand rollback" -l output -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand rollback" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand recover" -l reason -d 'Why it is abandoned (kept in the ledger entry)' -r
complete -c portagent -n "__fish_portagent_using_subcommand recover" -l output -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand recover" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand recover" -l abandon -d 'Settle it by hand: record it as abandoned instead of restoring'
complete -c portagent -n "__fish_portagent_using_subcommand recover" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand confirm-watch" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand confirm-watch" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand daemon" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand introspect-systemd" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand introspect-systemd" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand list-ports" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand list-ports" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand add-port" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand add-port" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand del-port" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand del-port" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand create-interface" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand create-interface" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand remove-interface" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand remove-interface" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand schema" -l plugin -d 'Only this plugin\'s section (e.g. `net`), as a schema of its own' -r
complete -c portagent -n "__fish_portagent_using_subcommand schema" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand schema" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand metrics" -l textfile -d 'Write it atomically here (node_exporter\'s textfile collector) instead of printing it' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand metrics" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand completions" -l name -d 'The program name to complete' -r -f -a "ovs-port-agent\t''
portagent\t''"
complete -c portagent -n "__fish_portagent_using_subcommand completions" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand completions" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand man" -l out-dir -r -F
complete -c portagent -n "__fish_portagent_using_subcommand man" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand man" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -f -a "verify" -d 'Check every hash, link and signed checkpoint: prints VALID or INVALID'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -f -a "stats" -d 'Counts by category, first and last time'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -f -a "show" -d 'Entries as JSON lines, filtered'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -f -a "proof" -d 'Merkle inclusion proof of the entry at HEIGHT'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -f -a "checkpoint" -d 'Sign a checkpoint of the ledger now and print it (keep a copy elsewhere)'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -f -a "reset" -d 'Accept the ledger as it is now after a loss that `verify` reports (entries cut at the tail, the signing key replaced): records an entry that names what was lost, who reset and why, and sets the earlier signed heads aside as evidence. Until then nothing is recorded, so nothing is changed'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and not __fish_seen_subcommand_from verify stats show proof checkpoint reset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from verify" -l checkpoint -d 'Also check against a checkpoint note kept elsewhere (repeatable)' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from verify" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from stats" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -l category -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -l since -d 'Entries at or after this RFC 3339 time (or a prefix, e.g. 2025-10-14)' -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -l hash -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -l from -d 'Heights from..=to' -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -l to -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -l last -d 'Only the last N matches' -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from proof" -l size -d 'In the tree of the first SIZE entries (default: all)' -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from proof" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from proof" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from checkpoint" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from checkpoint" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from reset" -l reason -d 'Why (kept in the entry)' -r
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from reset" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check every hash, link and signed checkpoint: prints VALID or INVALID'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "stats" -d 'Counts by category, first and last time'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "show" -d 'Entries as JSON lines, filtered'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "proof" -d 'Merkle inclusion proof of the entry at HEIGHT'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "checkpoint" -d 'Sign a checkpoint of the ledger now and print it (keep a copy elsewhere)'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Accept the ledger as it is now after a loss that `verify` reports (entries cut at the tail, the signing key replaced): records an entry that names what was lost, who reset and why, and sets the earlier signed heads aside as evidence. Until then nothing is recorded, so nothing is changed'
complete -c portagent -n "__fish_portagent_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "install" -d 'Show what a plugin asks for and install it with the admin\'s consent'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "list" -d 'List installed plugins'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "info" -d 'Show one installed plugin: version, WIT version, sha256, size, capabilities'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "remove" -d 'Remove an installed plugin. Plain remove leaves what it made on the system (its rows, files, flows); `--purge` first applies its section empty, as one recorded change, so it takes them away'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "new" -d 'Make a new plugin project: sources, WIT, build script, example state file and README, ready to build and install'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "wit" -d 'Print the WIT a plugin is built against (the `state-plugin` world and what it uses), as this portagent serves it'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "precompile" -d 'Compile every built-in and installed plugin into the cache now (as `scripts/install.sh` does), and remove artifacts nothing uses'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "keygen" -d 'Make a publisher signing key; prints the public key an admin adds to `[plugins.trusted_publishers]`'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "sign" -d 'Sign a plugin component with a publisher key: writes FILE.sig'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and not __fish_seen_subcommand_from install list info remove new wit precompile keygen sign help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from install" -l grant -d 'Grant one capability: `CAP` (as asked) or `CAP=SCOPE,...` (narrower)' -r
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from install" -l signature -d 'The publisher\'s signature (default: FILE.sig)' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from install" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from install" -l yes -d 'Grant everything the plugin asks for'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from install" -l upgrade -d 'Replace an installed plugin of the same name'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from install" -l allow-unsigned -d 'Install a component that is not signed by a trusted publisher (the ledger records it). A signature that does not match is still refused'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from list" -l output -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from list" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from info" -l output -r -f -a "text\t''
json\t''
yaml\t''"
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from info" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from remove" -l reason -d 'Why (with `--abandon`; kept in the ledger entry)' -r
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from remove" -l purge -d 'Apply the plugin\'s section empty first (what it made is removed, recorded), then remove it; nothing is removed if that apply fails'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from remove" -l abandon -d 'The plugin\'s rollback failed and is left unsettled: settle it by hand first (`portagent recover --abandon`), then remove'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from new" -l lang -r -f -a "rust\t''
python\t''
js\t''"
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from new" -l dir -d 'Where (default: ./NAME); must not exist or be empty' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from new" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from wit" -l version -l wit-version -d 'A version this portagent supports (default: the current one)' -r
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from wit" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from wit" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from precompile" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from precompile" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from keygen" -l key -d 'Where to write the secret key (mode 0600; never overwritten)' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from keygen" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from keygen" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from sign" -l key -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from sign" -l output -d 'Where to write the signature (default: FILE.sig)' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from sign" -l config -d 'Configuration file' -r -F
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from sign" -s h -l help -d 'Print help'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "install" -d 'Show what a plugin asks for and install it with the admin\'s consent'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "list" -d 'List installed plugins'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "info" -d 'Show one installed plugin: version, WIT version, sha256, size, capabilities'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove an installed plugin. Plain remove leaves what it made on the system (its rows, files, flows); `--purge` first applies its section empty, as one recorded change, so it takes them away'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "new" -d 'Make a new plugin project: sources, WIT, build script, example state file and README, ready to build and install'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "wit" -d 'Print the WIT a plugin is built against (the `state-plugin` world and what it uses), as this portagent serves it'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "precompile" -d 'Compile every built-in and installed plugin into the cache now (as `scripts/install.sh` does), and remove artifacts nothing uses'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "keygen" -d 'Make a publisher signing key; prints the public key an admin adds to `[plugins.trusted_publishers]`'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "sign" -d 'Sign a plugin component with a publisher key: writes FILE.sig'
complete -c portagent -n "__fish_portagent_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "apply-state" -d 'Apply a state file: diff, checkpoint, apply, verify, roll back on failure'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "show-diff" -d 'Show what applying a state file would change (nothing is changed)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "query-state" -d 'Show the live state, as a state file would describe it'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "commit" -d 'Keep the change applied with `--confirm-timeout`'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "rollback" -d 'Undo the change applied with `--confirm-timeout`'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "recover" -d 'Settle a change left unsettled now: a rollback that failed is tried again, however often it failed before. With `--abandon`, settle it by hand instead: the journal goes, the ledger records what was abandoned and why, and the system stays as it is. Root only'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "confirm-watch" -d 'The confirm timer: rolls change ID back at its deadline unless it was committed (started by `apply-state --confirm-timeout`)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "daemon" -d 'Run the daemon: serve `dev.ovs.PortAgent1` on the system bus'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "introspect-systemd" -d 'systemd-networkd\'s manager and link states, over its D-Bus API'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "list-ports" -d 'The ports of the configured bridge (`bridge_name`)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "add-port" -d 'Attach an existing link to the configured bridge (a dynamic port)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "del-port" -d 'Take a port off the configured bridge'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "create-interface" -d 'Attach a guest\'s link to the bridge, named by `naming_template` (renamed when `enable_rename`)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "remove-interface" -d 'Take a guest\'s port (by its name or its template name) off the bridge'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "schema" -d 'Print the JSON Schema (draft-07) of a state file, with the section of every installed plugin; point an editor\'s YAML language server at it'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "metrics" -d 'Prometheus text exposition: applies, rollbacks, failures by plugin, apply durations, ledger height and head age, a pending confirmation'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "completions" -d 'Print the shell completion script (bash, zsh, fish)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "man" -d 'Write the man pages (one per command) into a directory'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "ledger" -d 'The audit ledger: verify, stats, show, proof, checkpoint'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "plugin" -d 'Install, list, inspect and remove sandboxed plugins'
complete -c portagent -n "__fish_portagent_using_subcommand help; and not __fish_seen_subcommand_from apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "verify" -d 'Check every hash, link and signed checkpoint: prints VALID or INVALID'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "stats" -d 'Counts by category, first and last time'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "show" -d 'Entries as JSON lines, filtered'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "proof" -d 'Merkle inclusion proof of the entry at HEIGHT'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "checkpoint" -d 'Sign a checkpoint of the ledger now and print it (keep a copy elsewhere)'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "reset" -d 'Accept the ledger as it is now after a loss that `verify` reports (entries cut at the tail, the signing key replaced): records an entry that names what was lost, who reset and why, and sets the earlier signed heads aside as evidence. Until then nothing is recorded, so nothing is changed'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "install" -d 'Show what a plugin asks for and install it with the admin\'s consent'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "list" -d 'List installed plugins'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "info" -d 'Show one installed plugin: version, WIT version, sha256, size, capabilities'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "remove" -d 'Remove an installed plugin. Plain remove leaves what it made on the system (its rows, files, flows); `--purge` first applies its section empty, as one recorded change, so it takes them away'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "new" -d 'Make a new plugin project: sources, WIT, build script, example state file and README, ready to build and install'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "wit" -d 'Print the WIT a plugin is built against (the `state-plugin` world and what it uses), as this portagent serves it'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "precompile" -d 'Compile every built-in and installed plugin into the cache now (as `scripts/install.sh` does), and remove artifacts nothing uses'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "keygen" -d 'Make a publisher signing key; prints the public key an admin adds to `[plugins.trusted_publishers]`'
complete -c portagent -n "__fish_portagent_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "sign" -d 'Sign a plugin component with a publisher key: writes FILE.sig'
