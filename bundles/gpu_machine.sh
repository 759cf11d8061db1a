# Sourced by the *_gpu_call.sh scripts: makes this checkout runnable on a GPU machine that has torch but not the
# other packages. Their wheels are carried in .whl/ and installed once under /tmp/site (kept while the machine is
# held); the package's bundles and transforms folders are linked where an installed package has them.
set -u
export PYTHONUNBUFFERED=1
[ -d /tmp/site/monai ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -1
export PYTHONPATH=/tmp/site:$PWD
[ -e monai_spine/bundles ] || ln -s ../bundles monai_spine/bundles
[ -e monai_spine/transforms ] || ln -s ../transforms monai_spine/transforms
