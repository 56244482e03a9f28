# The processes that are this machine's sweeps, as extended regular expressions over a process's
# command line (pgrep -f, grep -E), sourced by start_sweeps.sh and with_sweeps_paused.sh:
# SWEEPS: a sweep's own python process, as start_sweeps.sh starts it (`python -m PACKAGE ...`) or a
# user runs settle by its console script; a bash command line that merely names one does not match.
SWEEPS='-m (nmt|gan|vision)[ .]benchmark|-m optim_suite settle|optim-suite settle'
# SWEEP_WORK: every process that does a sweep's work (what to pause for a timing): the sweeps, by either
# spelling, and the trainers they start (fairseq-train, gan.train); vision and settle train in-process.
SWEEP_WORK='(nmt|vision) benchmark|gan[ .]benchmark|optim[-_]suite settle|fairseq-train|gan\.train'
