#!/bin/sh
# Start a student's server on the class server, with the course in their home.
#
# First it copies the course's student edition (`python -m vitlearn release-student DIR`: every
# notebook, 00 included, without the solutions) into ~/course: each file that is not there yet.
# So the first login brings the whole course, a later one only what the teacher has added to
# the edition since, or a notebook the student deleted to start it afresh. A file already in
# ~/course is never overwritten, changed or not: the student's work stays theirs. Then it runs
# the single-user server, the command given as arguments ("$@").
#
# Used by both class servers: jupyterhub_config.py (the teacher's machine) runs it as each
# student's server command, and the Dockerfile (Kubernetes) makes it the image's entrypoint.
#
#   VITLEARN_STUDENT_EDITION   the edition's folder (default /opt/vitlearn/student)
#   VITLEARN_COURSE_DIR        where it goes in the home (default $HOME/course)
#
# A copy that fails (a full disk) is reported on stderr, in the hub's or the pod's log, and the
# server starts all the same: nbgrader's assignments and the student's own files stay reachable.

edition=${VITLEARN_STUDENT_EDITION:-/opt/vitlearn/student}
course=${VITLEARN_COURSE_DIR:-$HOME/course}

copy_missing() {
    # every folder of the edition, then every file that the course folder does not hold yet
    (cd "$edition" && find . -type d) | while IFS= read -r dir; do
        mkdir -p "$course/$dir" || echo "start-singleuser: cannot create $course/$dir" >&2
    done
    (cd "$edition" && find . -type f) | while IFS= read -r file; do
        if [ ! -e "$course/$file" ] && [ ! -L "$course/$file" ]; then
            cp "$edition/$file" "$course/$file" || echo "start-singleuser: cannot copy $file" >&2
        fi
    done
}

if [ -d "$edition/notebooks" ]; then
    copy_missing
else
    echo "start-singleuser: no student edition in $edition (make it with" \
        "\`python -m vitlearn release-student $edition\`); starting without the course" >&2
fi

exec "$@"
