# replay/ -- nothing is built here yet; see README.md for its role.
EXTRA_DIST += %reldir%/README.md
