_ovs__port__agent() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="ovs__port__agent"
                ;;
            ovs__port__agent,add-port)
                cmd="ovs__port__agent__subcmd__add__subcmd__port"
                ;;
            ovs__port__agent,apply-state)
                cmd="ovs__port__agent__subcmd__apply__subcmd__state"
                ;;
            ovs__port__agent,commit)
                cmd="ovs__port__agent__subcmd__commit"
                ;;
            ovs__port__agent,completions)
                cmd="ovs__port__agent__subcmd__completions"
                ;;
            ovs__port__agent,confirm-watch)
                cmd="ovs__port__agent__subcmd__confirm__subcmd__watch"
                ;;
            ovs__port__agent,create-interface)
                cmd="ovs__port__agent__subcmd__create__subcmd__interface"
                ;;
            ovs__port__agent,daemon)
                cmd="ovs__port__agent__subcmd__daemon"
                ;;
            ovs__port__agent,del-port)
                cmd="ovs__port__agent__subcmd__del__subcmd__port"
                ;;
            ovs__port__agent,help)
                cmd="ovs__port__agent__subcmd__help"
                ;;
            ovs__port__agent,introspect-systemd)
                cmd="ovs__port__agent__subcmd__introspect__subcmd__systemd"
                ;;
            ovs__port__agent,ledger)
                cmd="ovs__port__agent__subcmd__ledger"
                ;;
            ovs__port__agent,list-ports)
                cmd="ovs__port__agent__subcmd__list__subcmd__ports"
                ;;
            ovs__port__agent,man)
                cmd="ovs__port__agent__subcmd__man"
                ;;
            ovs__port__agent,metrics)
                cmd="ovs__port__agent__subcmd__metrics"
                ;;
            ovs__port__agent,plugin)
                cmd="ovs__port__agent__subcmd__plugin"
                ;;
            ovs__port__agent,query-state)
                cmd="ovs__port__agent__subcmd__query__subcmd__state"
                ;;
            ovs__port__agent,recover)
                cmd="ovs__port__agent__subcmd__recover"
                ;;
            ovs__port__agent,remove-interface)
                cmd="ovs__port__agent__subcmd__remove__subcmd__interface"
                ;;
            ovs__port__agent,rollback)
                cmd="ovs__port__agent__subcmd__rollback"
                ;;
            ovs__port__agent,schema)
                cmd="ovs__port__agent__subcmd__schema"
                ;;
            ovs__port__agent,show-diff)
                cmd="ovs__port__agent__subcmd__show__subcmd__diff"
                ;;
            ovs__port__agent__subcmd__help,add-port)
                cmd="ovs__port__agent__subcmd__help__subcmd__add__subcmd__port"
                ;;
            ovs__port__agent__subcmd__help,apply-state)
                cmd="ovs__port__agent__subcmd__help__subcmd__apply__subcmd__state"
                ;;
            ovs__port__agent__subcmd__help,commit)
                cmd="ovs__port__agent__subcmd__help__subcmd__commit"
                ;;
            ovs__port__agent__subcmd__help,completions)
                cmd="ovs__port__agent__subcmd__help__subcmd__completions"
                ;;
            ovs__port__agent__subcmd__help,confirm-watch)
                cmd="ovs__port__agent__subcmd__help__subcmd__confirm__subcmd__watch"
                ;;
            ovs__port__agent__subcmd__help,create-interface)
                cmd="ovs__port__agent__subcmd__help__subcmd__create__subcmd__interface"
                ;;
            ovs__port__agent__subcmd__help,daemon)
                cmd="ovs__port__agent__subcmd__help__subcmd__daemon"
                ;;
            ovs__port__agent__subcmd__help,del-port)
                cmd="ovs__port__agent__subcmd__help__subcmd__del__subcmd__port"
                ;;
            ovs__port__agent__subcmd__help,help)
                cmd="ovs__port__agent__subcmd__help__subcmd__help"
                ;;
            ovs__port__agent__subcmd__help,introspect-systemd)
                cmd="ovs__port__agent__subcmd__help__subcmd__introspect__subcmd__systemd"
                ;;
            ovs__port__agent__subcmd__help,ledger)
                cmd="ovs__port__agent__subcmd__help__subcmd__ledger"
                ;;
            ovs__port__agent__subcmd__help,list-ports)
                cmd="ovs__port__agent__subcmd__help__subcmd__list__subcmd__ports"
                ;;
            ovs__port__agent__subcmd__help,man)
                cmd="ovs__port__agent__subcmd__help__subcmd__man"
                ;;
            ovs__port__agent__subcmd__help,metrics)
                cmd="ovs__port__agent__subcmd__help__subcmd__metrics"
                ;;
            ovs__port__agent__subcmd__help,plugin)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin"
                ;;
            ovs__port__agent__subcmd__help,query-state)
                cmd="ovs__port__agent__subcmd__help__subcmd__query__subcmd__state"
                ;;
            ovs__port__agent__subcmd__help,recover)
                cmd="ovs__port__agent__subcmd__help__subcmd__recover"
                ;;
            ovs__port__agent__subcmd__help,remove-interface)
                cmd="ovs__port__agent__subcmd__help__subcmd__remove__subcmd__interface"
                ;;
            ovs__port__agent__subcmd__help,rollback)
                cmd="ovs__port__agent__subcmd__help__subcmd__rollback"
                ;;
            ovs__port__agent__subcmd__help,schema)
                cmd="ovs__port__agent__subcmd__help__subcmd__schema"
                ;;
            ovs__port__agent__subcmd__help,show-diff)
                cmd="ovs__port__agent__subcmd__help__subcmd__show__subcmd__diff"
                ;;
            ovs__port__agent__subcmd__help__subcmd__ledger,checkpoint)
                cmd="ovs__port__agent__subcmd__help__subcmd__ledger__subcmd__checkpoint"
                ;;
            ovs__port__agent__subcmd__help__subcmd__ledger,proof)
                cmd="ovs__port__agent__subcmd__help__subcmd__ledger__subcmd__proof"
                ;;
            ovs__port__agent__subcmd__help__subcmd__ledger,reset)
                cmd="ovs__port__agent__subcmd__help__subcmd__ledger__subcmd__reset"
                ;;
            ovs__port__agent__subcmd__help__subcmd__ledger,show)
                cmd="ovs__port__agent__subcmd__help__subcmd__ledger__subcmd__show"
                ;;
            ovs__port__agent__subcmd__help__subcmd__ledger,stats)
                cmd="ovs__port__agent__subcmd__help__subcmd__ledger__subcmd__stats"
                ;;
            ovs__port__agent__subcmd__help__subcmd__ledger,verify)
                cmd="ovs__port__agent__subcmd__help__subcmd__ledger__subcmd__verify"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,info)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__info"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,install)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__install"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,keygen)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__keygen"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,list)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__list"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,new)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__new"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,precompile)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__precompile"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,remove)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__remove"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,sign)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__sign"
                ;;
            ovs__port__agent__subcmd__help__subcmd__plugin,wit)
                cmd="ovs__port__agent__subcmd__help__subcmd__plugin__subcmd__wit"
                ;;
            ovs__port__agent__subcmd__ledger,checkpoint)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__checkpoint"
                ;;
            ovs__port__agent__subcmd__ledger,help)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help"
                ;;
            ovs__port__agent__subcmd__ledger,proof)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__proof"
                ;;
            ovs__port__agent__subcmd__ledger,reset)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__reset"
                ;;
            ovs__port__agent__subcmd__ledger,show)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__show"
                ;;
            ovs__port__agent__subcmd__ledger,stats)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__stats"
                ;;
            ovs__port__agent__subcmd__ledger,verify)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__verify"
                ;;
            ovs__port__agent__subcmd__ledger__subcmd__help,checkpoint)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help__subcmd__checkpoint"
                ;;
            ovs__port__agent__subcmd__ledger__subcmd__help,help)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help__subcmd__help"
                ;;
            ovs__port__agent__subcmd__ledger__subcmd__help,proof)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help__subcmd__proof"
                ;;
            ovs__port__agent__subcmd__ledger__subcmd__help,reset)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help__subcmd__reset"
                ;;
            ovs__port__agent__subcmd__ledger__subcmd__help,show)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help__subcmd__show"
                ;;
            ovs__port__agent__subcmd__ledger__subcmd__help,stats)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help__subcmd__stats"
                ;;
            ovs__port__agent__subcmd__ledger__subcmd__help,verify)
                cmd="ovs__port__agent__subcmd__ledger__subcmd__help__subcmd__verify"
                ;;
            ovs__port__agent__subcmd__plugin,help)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help"
                ;;
            ovs__port__agent__subcmd__plugin,info)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__info"
                ;;
            ovs__port__agent__subcmd__plugin,install)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__install"
                ;;
            ovs__port__agent__subcmd__plugin,keygen)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__keygen"
                ;;
            ovs__port__agent__subcmd__plugin,list)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__list"
                ;;
            ovs__port__agent__subcmd__plugin,new)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__new"
                ;;
            ovs__port__agent__subcmd__plugin,precompile)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__precompile"
                ;;
            ovs__port__agent__subcmd__plugin,remove)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__remove"
                ;;
            ovs__port__agent__subcmd__plugin,sign)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__sign"
                ;;
            ovs__port__agent__subcmd__plugin,wit)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__wit"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,help)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__help"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,info)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__info"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,install)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__install"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,keygen)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__keygen"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,list)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__list"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,new)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__new"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,precompile)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__precompile"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,remove)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__remove"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,sign)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__sign"
                ;;
            ovs__port__agent__subcmd__plugin__subcmd__help,wit)
                cmd="ovs__port__agent__subcmd__plugin__subcmd__help__subcmd__wit"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        ovs__port__agent)
            opts="-h -V --config --help --version apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__add__subcmd__port)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__apply__subcmd__state)
            opts="-h --no-wait --detailed-exitcode --confirm-timeout --probe --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --confirm-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__commit)
            opts="-h --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__completions)
            opts="-h --name --config --help bash zsh fish"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --name)
                    COMPREPLY=($(compgen -W "ovs-port-agent portagent" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__confirm__subcmd__watch)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__create__subcmd__interface)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__daemon)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__del__subcmd__port)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help)
            opts="apply-state show-diff query-state commit rollback recover confirm-watch daemon introspect-systemd list-ports add-port del-port create-interface remove-interface schema metrics completions man ledger plugin help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__add__subcmd__port)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__apply__subcmd__state)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__commit)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__completions)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__confirm__subcmd__watch)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__create__subcmd__interface)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__daemon)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__del__subcmd__port)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__introspect__subcmd__systemd)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__ledger)
            opts="verify stats show proof checkpoint reset"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__ledger__subcmd__checkpoint)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__ledger__subcmd__proof)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__ledger__subcmd__reset)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__ledger__subcmd__show)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__ledger__subcmd__stats)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__ledger__subcmd__verify)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__list__subcmd__ports)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__man)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__metrics)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin)
            opts="install list info remove new wit precompile keygen sign"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__info)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__install)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__keygen)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__new)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__precompile)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__remove)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__sign)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__plugin__subcmd__wit)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__query__subcmd__state)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__recover)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__remove__subcmd__interface)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__rollback)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__schema)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__help__subcmd__show__subcmd__diff)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__introspect__subcmd__systemd)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger)
            opts="-h --config --help verify stats show proof checkpoint reset help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__checkpoint)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help)
            opts="verify stats show proof checkpoint reset help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help__subcmd__checkpoint)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help__subcmd__proof)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help__subcmd__reset)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help__subcmd__show)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help__subcmd__stats)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__help__subcmd__verify)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__proof)
            opts="-h --size --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__reset)
            opts="-h --reason --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --reason)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__show)
            opts="-h --category --since --hash --from --to --last --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --category)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --since)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --hash)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --from)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --to)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --last)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__stats)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__ledger__subcmd__verify)
            opts="-h --checkpoint --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --checkpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__list__subcmd__ports)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__man)
            opts="-h --out-dir --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --out-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__metrics)
            opts="-h --textfile --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --textfile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin)
            opts="-h --config --help install list info remove new wit precompile keygen sign help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help)
            opts="install list info remove new wit precompile keygen sign help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__help)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__info)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__install)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__keygen)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__list)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__new)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__precompile)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__remove)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__sign)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__help__subcmd__wit)
            opts=""
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 4 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__info)
            opts="-h --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__install)
            opts="-h --yes --grant --upgrade --signature --allow-unsigned --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --grant)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --signature)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__keygen)
            opts="-h --key --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__list)
            opts="-h --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__new)
            opts="-h --lang --dir --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --lang)
                    COMPREPLY=($(compgen -W "rust python js" -- "${cur}"))
                    return 0
                    ;;
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__precompile)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__remove)
            opts="-h --purge --abandon --reason --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --reason)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__sign)
            opts="-h --key --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__plugin__subcmd__wit)
            opts="-h --wit-version --version --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 3 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --version)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wit-version)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__query__subcmd__state)
            opts="-h --plugin --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --plugin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__recover)
            opts="-h --abandon --reason --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --reason)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__remove__subcmd__interface)
            opts="-h --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__rollback)
            opts="-h --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__schema)
            opts="-h --plugin --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --plugin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ovs__subcmd__port__subcmd__agent__subcmd__show__subcmd__diff)
            opts="-h --output --config --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --output)
                    COMPREPLY=($(compgen -W "text json yaml" -- "${cur}"))
                    return 0
                    ;;
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _ovs__port__agent -o nosort -o bashdefault -o default ovs-port-agent
else
    complete -F _ovs__port__agent -o bashdefault -o default ovs-port-agent
fi
