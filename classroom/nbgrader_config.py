# nbgrader settings every user of the class server shares: the course id and where the exchange
# (the folder that release, fetch, submit and collect pass assignments through) lives.
# Installed as /etc/jupyter/nbgrader_config.py by classroom/Dockerfile (Kubernetes), or into the
# hub's environment on a teacher's machine (classroom/README.md). The teacher's course directory
# has its own nbgrader_config.py (written by `python -m vitlearn release-nbgrader`), which adds to
# this.
c = get_config()  # noqa: F821 (nbgrader provides get_config)
c.CourseDirectory.course_id = "vitlearn"
c.Exchange.root = "/srv/nbgrader/exchange"
