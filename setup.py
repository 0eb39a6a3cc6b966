"Package metadata comes from settings.ini (nbdev 2 layout)."
from configparser import ConfigParser
from setuptools import setup, find_packages

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
req = lambda key: cfg.get(key, '').split()
train, tpu, dev = req('train_requirements'), req('tpu_requirements'), req('dev_requirements')

setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(), long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license='Apache-2.0', url=cfg['git_url'],
    keywords=cfg['keywords'], python_requires='>=' + cfg['min_python'],
    packages=find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']), include_package_data=True,
    package_data={cfg['lib_name']: ['configs/*.yaml', 'weights/*/*', 'templates/*']},
    install_requires=req('requirements'),
    extras_require={'train': train, 'tpu': tpu, 'dev': dev + train + tpu},
    entry_points={'console_scripts': req('console_scripts'), 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
