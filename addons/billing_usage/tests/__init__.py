# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
